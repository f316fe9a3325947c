"""The local executor: warm language workers, the scheduler with stepping, run history and hot reload."""
