"""shopfloor: work orders, their operations and the time booked on them."""
