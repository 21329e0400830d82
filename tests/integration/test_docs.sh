#!/bin/bash
# The README's env table and `steer --help` name the same STEER_* variables.
. "$(dirname "$0")/lib.sh"
help_vars=$("$STEER" --help | grep -o '^STEER_[A-Z_]*' | sort -u)
readme_vars=$(grep -o '^| `STEER_[A-Z_]*`' "$ROOT/README.md" | grep -o 'STEER_[A-Z_]*' | sort -u)
check_eq "README env table matches steer --help" "$help_vars" "$readme_vars"
finish
