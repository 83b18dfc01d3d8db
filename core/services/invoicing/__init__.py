"""Monthly invoices: SKUs and rates, the invoice month, overrides, exports, and the locks on
finalized days."""
