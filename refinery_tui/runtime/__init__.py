"""The ground floor, stdlib only, shipped in every Lambda: the safe evaluator, the engine, joins, run events."""
