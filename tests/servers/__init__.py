"""Real local servers (127.0.0.1, port 0) that tests point the code at."""
