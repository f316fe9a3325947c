"""The transition engine: given a block's result, what runs next. Pure and stdlib only; shipped in every Lambda."""
