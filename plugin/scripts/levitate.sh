#!/bin/sh
# API compatibility of the plugin with the Grafana versions it claims (grafanaDependency ">=12.3.0"
# in src/plugin.json): the lowest version that range allows (12.3.0), the newest 12.x (12.4.10,
# React 18) and the newest complete 13.x (13.2.2, React 19; 13.2.3 is a broken partial release on
# npm: @grafana/e2e-selectors@13.2.3 does not exist). Keep VERSIONS in step with grafanaDependency.
# @grafana/levitate reads the target versions from the npm registry.
# Usage: sh plugin/scripts/levitate.sh (from anywhere).
#
# levitate finds the installed versions with `npm list --json --depth 0` next to the module; in
# this npm workspace that lists the workspace packages, not their dependencies, so levitate would
# skip every check ("not installed locally"). A PATH shim answers that one call with the versions
# actually installed and passes every other npm call through.
set -eu
cd "$(dirname "$0")/.."
PLUGIN_DIR=$(pwd)
SHIM=$(mktemp -d)
trap 'rm -rf "$SHIM"' EXIT
REAL_NPM=$(command -v npm)
cat > "$SHIM/npm" <<SHIM_EOF
#!/bin/sh
if [ "\$1" = "list" ] && [ "\$2" = "--json" ]; then
  exec node -e '
    const deps = {};
    for (const p of ["@grafana/data", "@grafana/ui", "@grafana/runtime", "@grafana/schema"]) {
      try { deps[p] = { version: require(require.resolve(p + "/package.json", { paths: ["$PLUGIN_DIR"] })).version }; } catch {}
    }
    console.log(JSON.stringify({ name: "@streamgauge/plugin", dependencies: deps }));'
fi
exec "$REAL_NPM" "\$@"
SHIM_EOF
chmod +x "$SHIM/npm"
status=0
VERSIONS="12.3.0 12.4.10 13.2.2"
for v in $VERSIONS; do
  echo "levitate: src/module.ts against @grafana/{data,ui,runtime}@$v"
  out=$(PATH="$SHIM:$PATH" timeout 300 npx --no-install levitate is-compatible --path src/module.ts \
    --target "@grafana/data@$v,@grafana/ui@$v,@grafana/runtime@$v" 2>&1) || status=1
  echo "$out"
  # Skipped checks must fail CI, not pass silently.
  if echo "$out" | grep -q "Skipping package"; then
    echo "levitate skipped a package for $v" >&2
    status=1
  fi
done
exit $status
