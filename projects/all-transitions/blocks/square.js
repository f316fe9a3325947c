exports.main = async (blockInput, backpack) => {
  if (blockInput < 0) {
    throw new Error(`cannot square a negative number: ${blockInput}`);
  }
  return blockInput * blockInput;
};
