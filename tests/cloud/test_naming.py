"""Resource names: `<project>-<stage>-<block>`, shortened with a hash past AWS's limits, stages checked."""

from __future__ import annotations

import pytest

from refinery_tui.cloud.naming import LIMITS, Names, NamingError

LONG_PROJECT = "p" * 40
LONG_BLOCK = "b" * 48


def test_short_names_are_kept_whole():
    names = Names("orders", "dev")
    assert names.function("price-item") == "orders-dev-price-item"
    assert names.log_group("price-item") == "/aws/lambda/orders-dev-price-item"
    assert names.role_path == "/refinery/orders/dev/"
    assert names.bucket("123456789012") == "orders-dev-payloads-123456789012"


def test_long_names_fit_and_stay_distinct_and_stable():
    names = Names(LONG_PROJECT, "staging-eu-west-1")
    made = {}
    for kind in ("function", "role", "queue", "rule"):
        for suffix in ("x", "y"):
            name = getattr(names, kind)(LONG_BLOCK + suffix)
            assert len(name) <= LIMITS[kind]
            assert name == getattr(Names(LONG_PROJECT, "staging-eu-west-1"), kind)(LONG_BLOCK + suffix)
            made[(kind, suffix)] = name
    assert made[("function", "x")] != made[("function", "y")]
    assert len(names.function(LONG_BLOCK + "x")) == 64
    assert len(names.bucket("123456789012")) <= 63


@pytest.mark.parametrize("stage", ["", "Dev", "dev_1", "-dev", "a" * 21, "dév"])
def test_bad_stages_are_refused_with_a_hint(stage):
    with pytest.raises(NamingError, match="for example: dev, prod, pr-42"):
        Names("orders", stage)


def test_tags_name_the_project_stage_kind_and_block():
    tags = Names("orders", "dev").tags("function", "price-item", "abc")
    assert tags == {
        "refinery:project": "orders",
        "refinery:stage": "dev",
        "refinery:kind": "function",
        "refinery:managed-by": "refinery-tui",
        "refinery:block": "price-item",
        "refinery:spec": "abc",
    }
