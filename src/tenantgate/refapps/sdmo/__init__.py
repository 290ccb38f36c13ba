"""sdmo: items, customers, sites, stock and sales orders."""
