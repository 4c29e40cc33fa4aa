#!/bin/sh
echo "hello from rbuild: $(cat /built-by)"
