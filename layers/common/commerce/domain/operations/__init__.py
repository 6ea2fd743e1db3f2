"""What operators look after besides orders and stock: the stack's queues and its scheduled upkeep jobs."""
