exports.main = async (report, backpack) => {
  const lines = report.rows.map((row) => `${row.region.padEnd(10)} ${String(row.sales).padStart(6)}`);
  return { subject: `Sales: ${report.total} (best: ${report.best_region})`, body: lines.join("\n") };
};
