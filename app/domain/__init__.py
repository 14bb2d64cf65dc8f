"""Pure analytics: numpy arrays in, Pydantic documents out. No I/O, no clock, no logging."""
