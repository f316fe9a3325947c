exports.main = async (event, backpack) => ({ parcels: event.packed });
