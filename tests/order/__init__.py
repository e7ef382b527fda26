"""The order-independence check (issue #15): one seeded log, several publishing orders."""
