#!/bin/sh
set -eu
docker run -d --name cache -p 127.0.0.1:6379:6379 redis:7
socat TCP-LISTEN:8080,fork TCP:db:5432 &
nc -lvnp 4444
