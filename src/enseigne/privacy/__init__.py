"""Personal data behind one gate: who may read which customer, and a log of every access."""
