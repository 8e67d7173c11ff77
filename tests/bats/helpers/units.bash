# units.bash - substituted copies of units/ for the tests.  The placeholders
# are replaced exactly as the Makefile's install target does:
#     sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@DBDIR@|$(DBDIR)|g' \
#         -e 's|@SPOOLDIR@|$(SPOOLDIR)|g' units/X > $(DESTDIR)$(UNITDIR)/X

# units_render OUTDIR BINDIR DBDIR SPOOLDIR: every file of units/, rendered.
units_render() {
	local out=$1 bindir=$2 dbdir=$3 spooldir=$4 f
	mkdir -p "$out" || return 1
	for f in "$TSDB_ROOT"/units/*; do
		sed -e "s|@BINDIR@|$bindir|g" -e "s|@DBDIR@|$dbdir|g" \
		    -e "s|@SPOOLDIR@|$spooldir|g" "$f" >"$out/${f##*/}" || return 1
	done
	# Nothing may be left unsubstituted.
	! grep -n '@[A-Z]*DIR@' "$out"/*
}

# units_exposure UNITFILE: the "Overall exposure level" figure of
# systemd-analyze security --offline=true (e.g. 0.2), run in the unit's
# directory so that the local file is the one scored.
units_exposure() {
	local dir=${1%/*} name=${1##*/}
	(cd "$dir" && systemd-analyze security --offline=true --no-pager "$name") 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
