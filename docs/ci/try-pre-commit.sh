#!/usr/bin/env bash
# Run the README's pre-commit snippet for real, against a clone of this repository.
#
#   docs/ci/try-pre-commit.sh            # needs git, python3 and network (or a pip index)
#
# It clones this checkout into a temporary folder, tags the clone `v<version>` (the tag a
# release carries; here only in the clone, so it also works before the release is
# tagged), makes a policy repository with `funnel init`, writes the README's
# .pre-commit-config.yaml into it (the `repo:` URL pointing at the clone) and runs
# `pre-commit run --all-files` twice: on the clean starter (must pass) and on a policy
# with an unknown field (must fail with E101). pre-commit builds the hooks' environment
# from the clone with pip, exactly as it does from the real repository.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/pyproject.toml" | head -n 1)
export GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=try GIT_AUTHOR_EMAIL=try@invalid \
  GIT_COMMITTER_NAME=try GIT_COMMITTER_EMAIL=try@invalid PRE_COMMIT_HOME="$work/cache"

git clone -q "$here" "$work/funnel-policy"
git -C "$work/funnel-policy" tag -f "v$version" >/dev/null

"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q pre-commit "$here"
export PATH="$work/venv/bin:$PATH"

funnel init "$work/policy-repo" >/dev/null
cd "$work/policy-repo"
# the README's snippet, with this clone as the repository
sed -n '/^repos:$/,/^```$/p' "$here/README.md" | sed '$d' \
  | sed "s#repo: .*\# this repository#repo: $work/funnel-policy#" > .pre-commit-config.yaml
grep -q "rev: v$version" .pre-commit-config.yaml
git init -q && git add -A
pre-commit run --all-files
echo "ok: the hooks pass on the starter policy"
sed -i 's/require fit >= 50/require fitt >= 50/' rules/policy.funnel
git add -A
if pre-commit run --all-files > "$work/out.txt" 2>&1; then
  cat "$work/out.txt"; echo "FAILED: the hooks let a policy with an error through"; exit 1
fi
grep -q E101 "$work/out.txt"
echo "ok: the hooks stop a policy with an unknown field (E101)"
