#!/bin/sh
echo "hello from rbuild: $(cat /app/built-by)"
