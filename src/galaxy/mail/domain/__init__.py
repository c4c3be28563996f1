"""Delivery rules, free of I/O: what a delivery is, how it is accepted, retried and given up."""
