exports.main = async (blockInput, backpack) => ({ verdict: "big", sum: blockInput.sum });
