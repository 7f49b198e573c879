#!/usr/bin/env bash
# Adds the public symbols a build reports as undeclared (RS0016) to each project's PublicAPI.Unshipped.txt.
# Usage: eng/update-public-api.sh [project-or-solution]. Review the diff: every added line is public surface.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-HeliosNano.Realtime.sln}"
log=$(mktemp)
dotnet build "$target" -p:TreatWarningsAsErrors=false -nologo -clp:NoSummary > "$log" 2>&1 || true
grep -oE "^[^(]+\([0-9]+,[0-9]+\): (error|warning) RS0016: Symbol '.*' is not part of the declared public API .*\[[^]]+\.csproj\]" "$log" \
  | sed -E "s/^.*RS0016: Symbol '(.*)' is not part of the declared public API.*\[([^]]+)\]$/\2\t\1/" \
  | sort -u | while IFS=$'\t' read -r proj symbol; do
      file="$(dirname "$proj")/PublicAPI.Unshipped.txt"
      grep -qxF -- "$symbol" "$file" || echo "$symbol" >> "$file"
    done
for f in src/*/PublicAPI.Unshipped.txt; do
  { head -n1 "$f"; tail -n +2 "$f" | LC_ALL=C sort -u; } > "$f.tmp" && mv "$f.tmp" "$f"
done
rm -f "$log"
