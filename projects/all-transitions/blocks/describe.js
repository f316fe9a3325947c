exports.main = async (blockInput, backpack) => {
  const numbers = blockInput.numbers;
  return { count: numbers.length, max: numbers.length ? Math.max(...numbers) : null };
};
