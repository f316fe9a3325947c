// Receives a batch (a list) of accepted orders from the fulfilment queue.
exports.main = async (orders, backpack) => {
  const parcels = orders.map((accepted) => ({
    order_id: accepted.order_id,
    units: accepted.order.items.reduce((sum, item) => sum + Number(item.quantity), 0),
  }));
  return { packed: parcels.length, parcels };
};
