"""Billing: prices, provider price files, usage, bills, budgets and their formats."""
