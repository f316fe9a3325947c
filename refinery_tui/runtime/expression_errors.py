"""The errors of the `if` evaluator, and the one way a limit on its work is told: "expression too costly: ..."."""

from __future__ import annotations

MAX_MESSAGE = 2_000  # characters of an error message; longer ones end in "..."


class ExpressionError(Exception):
    """Base of every error the evaluator raises."""


class ExpressionSyntaxError(ExpressionError):
    """The expression does not parse, or uses something the evaluator refuses. `offset` is 1-based."""

    def __init__(self, message: str, offset: int = 1, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.offset = max(1, offset)
        self.line = max(1, line)


class ExpressionRuntimeError(ExpressionError):
    """The expression parsed but failed while evaluating (a missing key, a division by zero, too much work)."""


def too_costly(detail: str) -> ExpressionRuntimeError:
    """The error for an expression that would need more time or memory than an `if` may take."""
    return ExpressionRuntimeError(f"expression too costly: {detail}")


def bounded_message(text: str) -> str:
    """An error message cut to MAX_MESSAGE characters, so that no message carries a huge value."""
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."
