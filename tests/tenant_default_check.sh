#!/bin/sh
# Tenant isolation fails open when a tenant-scoped value defaults to some tenant (ARCHITECTURE.md
# "Tenancy"). base::TenantId has no default constructor; this check keeps text defaults out too:
# no `tenant... = "<literal>"` member or variable default in src/ or cli/ (tests excluded), and the
# single-company tenant's name is written only in configuration loading (app/config.hpp).
# Usage: tenant_default_check.sh REPO_ROOT. Exit 1 with the offending lines.
set -u
root=${1:?repo root}
cd "$root" || exit 2
bad=0
# A tenant member or variable initialized from a string literal.
hits=$(grep -rnE '(TenantId|std::string)[[:space:]]+[a-z_]*tenant[a-z_]*[[:space:]]*(=|\{)[[:space:]]*"' \
         src cli --include='*.hpp' --include='*.cpp' | grep -v '_test\.cpp:')
if [ -n "$hits" ]; then
  echo "tenant defaults to a literal (give it no default; see base/tenant_id.hpp):"
  echo "$hits"
  bad=1
fi
# The single-company tenant's name outside configuration loading.
hits=$(grep -rn 'kSingleCompanyTenant = ' src cli --include='*.hpp' --include='*.cpp' | grep -v '^src/app/config\.hpp:')
hits2=$(grep -rnE 'tenant[^;]*"default"|"default"[^;]*tenant' src cli --include='*.hpp' --include='*.cpp' \
          | grep -v '_test\.cpp:' | grep -v '^src/app/config\.\(c\|h\)pp:')
if [ -n "$hits$hits2" ]; then
  echo "the single-company tenant is named outside app/config (use app::kSingleCompanyTenant there, a TenantId elsewhere):"
  [ -n "$hits" ] && echo "$hits"
  [ -n "$hits2" ] && echo "$hits2"
  bad=1
fi
[ $bad -eq 0 ] && echo "ok: no tenant defaults"
exit $bad
