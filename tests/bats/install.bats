#!/usr/bin/env bats
# install.bats - make install / make uninstall into a staging directory
# (DESTDIR): the programs, the systemd units with every placeholder filled
# in, the documentation.  Installs the programs tests/run is testing
# (TSDB_BIN) without rebuilding them: make is told to take them as they are.

bats_require_minimum_version 1.5.0

setup() {
	: "${TSDB_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
	: "${TSDB_BIN:=$TSDB_ROOT/build/bin}"
	# TSDB_BIN is ROOT/BUILD/bin: the same BUILD for make.
	build=${TSDB_BIN#"$TSDB_ROOT"/}
	build=${build%/bin}
	dest="$BATS_TEST_TMPDIR/dest"
}

# mk TARGET VAR=VALUE...: make in the repository with the built programs
# taken as up to date (-o) and none of the calling make's flags.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -s -C "$TSDB_ROOT" --no-print-directory "BUILD=$build" POSTINSTALL=no \
		-o "$build/bin/tsdb" -o "$build/bin/tsdb-handler" -o "$build/bin/simsearch" "$@"
}

@test "make install DESTDIR PREFIX=/usr: programs, units, docs, bash completions" {
	run mk install DESTDIR="$dest" PREFIX=/usr
	echo "$output"
	[ "$status" -eq 0 ]
	for p in tsdb tsdb-handler simsearch; do
		[ -x "$dest/usr/bin/$p" ]
		cmp "$TSDB_BIN/$p" "$dest/usr/bin/$p"
	done
	for u in systemd/system/tsdb.socket systemd/system/tsdb@.service systemd/system/tsdb-ingest.service \
		systemd/system/tsdb-ingest.timer systemd/system/tsdb-init.service systemd/system/tsdb-netns.service \
		sysusers.d/tsdb.conf tmpfiles.d/tsdb.conf; do
		[ -f "$dest/usr/lib/$u" ]
		[ "$(stat -c %a "$dest/usr/lib/$u")" = 644 ]
	done
	[ -f "$dest/usr/share/doc/tsdb/PROTOCOL.md" ]
	# where bash-completion looks for a command's completion
	for p in tsdb simsearch; do
		cmp "$TSDB_ROOT/completions/$p" "$dest/usr/share/bash-completion/completions/$p"
	done
	if [ -f "$TSDB_ROOT/README.md" ]; then
		[ -f "$dest/usr/share/doc/tsdb/README.md" ]
	fi
	# Nothing outside DESTDIR/usr.
	[ "$(ls "$dest")" = usr ]
}

@test "make install: no placeholder left, paths from PREFIX, DBDIR, SPOOLDIR" {
	run mk install DESTDIR="$dest" PREFIX=/usr
	echo "$output"
	[ "$status" -eq 0 ]
	units="$dest/usr/lib/systemd/system"
	run grep -rn '@[A-Z_]*@' "$units"
	[ "$status" -eq 1 ]
	grep -qx 'ExecStart=/usr/bin/tsdb-handler --db /var/lib/tsdb --timeout 2' "$units/tsdb@.service"
	grep -qx 'ExecStart=/usr/bin/tsdb ingest --db /var/lib/tsdb --spool /var/spool/tsdb' \
		"$units/tsdb-ingest.service"
	grep -qx 'ExecStart=/usr/bin/tsdb init --db /var/lib/tsdb' "$units/tsdb-init.service"
	grep -qx 'u tsdb - "tsdb database writer" /var/lib/tsdb' "$dest/usr/lib/sysusers.d/tsdb.conf"
	grep -qx 'd /var/spool/tsdb/new 0775 tsdb tsdb -' "$dest/usr/lib/tmpfiles.d/tsdb.conf"
	run grep -rn '@[A-Z_]*@' "$dest/usr/lib/sysusers.d" "$dest/usr/lib/tmpfiles.d"
	[ "$status" -eq 1 ]

	rm -rf "$dest"
	run mk install DESTDIR="$dest" PREFIX=/opt/tsdb DBDIR=/srv/tsdb SPOOLDIR=/srv/spool
	echo "$output"
	[ "$status" -eq 0 ]
	units="$dest/opt/tsdb/lib/systemd/system"
	[ -x "$dest/opt/tsdb/bin/tsdb-handler" ]
	grep -qx 'ExecStart=/opt/tsdb/bin/tsdb-handler --db /srv/tsdb --timeout 2' "$units/tsdb@.service"
	grep -qx 'd /srv/spool 0755 tsdb tsdb -' "$dest/opt/tsdb/lib/tmpfiles.d/tsdb.conf"
	grep -qx 'ExecStart=/opt/tsdb/bin/tsdb ingest --db /srv/tsdb --spool /srv/spool' \
		"$units/tsdb-ingest.service"
	run grep -rn '@[A-Z_]*@' "$units"
	[ "$status" -eq 1 ]
}

@test "the installed units pass systemd-analyze verify" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	# Installed without DESTDIR, so that ExecStart= names real programs.
	prefix="$BATS_TEST_TMPDIR/prefix"
	run mk install PREFIX="$prefix"
	echo "$output"
	[ "$status" -eq 0 ]
	cd "$prefix/lib/systemd/system"
	# Documentation=man:tsdb-service(7) must name an installed page
	MANPATH="$prefix/share/man" run systemd-analyze verify tsdb.socket tsdb@.service tsdb-ingest.service tsdb-ingest.timer tsdb-init.service \
		tsdb-netns.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]     # an unknown key or a missing program is only a warning
}

@test "make install: manual pages that man finds, made from the programs' own help" {
	run mk install DESTDIR="$dest" PREFIX=/usr
	[ "$status" -eq 0 ]
	local m="$dest/usr/share/man" page cmd
	for page in man1/tsdb.1 man1/simsearch.1 man8/tsdb-handler.8 man7/tsdb-service.7; do
		[ -f "$m/$page" ]
		# no groff warning at the strictest level
		run -0 env LC_ALL=C.UTF-8 groff -man -ww -z "$m/$page"
		[ -z "$output" ]
	done
	run -0 env MANWIDTH=80 man -M "$m" tsdb
	[[ "$output" == *"tsdb - time-series similarity database"* ]]
	# every command's page is in tsdb(1)
	for cmd in $("$TSDB_BIN/tsdb" --help | sed -n '/^COMMANDS/,/^$/s/^    \([a-z]*\) .*/\1/p'); do
		[[ "$output" == *"tsdb $cmd - "* ]] || { echo "no page for $cmd"; return 1; }
	done
	run -0 env MANWIDTH=80 man -M "$m" 8 tsdb-handler
	[[ "$output" == *"--no-sandbox"* ]]
	run -0 env MANWIDTH=80 man -M "$m" simsearch
	[[ "$output" == *"TSDB_SERVER"* ]]
	run -0 env MANWIDTH=80 man -M "$m" 7 tsdb-service
	[[ "$output" == *"systemctl enable --now tsdb.socket tsdb-ingest.timer"* ]]
}

@test "make without the libraries says which are missing and how to install them" {
	local b="$BATS_TEST_TMPDIR/build"
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= \
		make -s -C "$TSDB_ROOT" --no-print-directory "BUILD=$b" "$b/obj/err.o"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"tsdb needs libraries that are not installed: libjansson-dev libfftw3-dev libseccomp-dev"* ]]
	[[ "$output" == *"sudo apt-get install libjansson-dev libfftw3-dev libseccomp-dev"* ]]
	[ ! -e "$b/obj/err.o" ]
	# with them, the same build goes on
	run -0 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TSDB_ROOT" --no-print-directory "BUILD=$b" "$b/obj/err.o"
	[ -f "$b/obj/err.o" ]
}

@test "make uninstall removes everything make install put there" {
	run mk install DESTDIR="$dest" PREFIX=/usr
	echo "$output"
	[ "$status" -eq 0 ]
	run mk uninstall DESTDIR="$dest" PREFIX=/usr
	echo "$output"
	[ "$status" -eq 0 ]
	run find "$dest" -type f
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$dest/usr/share/doc/tsdb" ]
}
