bind = ["0.0.0.0:8000", "unix:/tmp/g.sock", "[::1]:8001"]
workers = 4
