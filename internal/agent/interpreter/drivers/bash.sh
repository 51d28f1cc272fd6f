# The Bash engine of SoulBox's code interpreter: one persistent bash per
# context, so variables, functions and the working directory carry over
# from one cell to the next. The protocol with the agent is in the
# interpreter package's doc.go; bash cannot parse JSON, so its requests
# are "<id> <base64 cell> <base64 env assignments>" lines on fd 3.

__sbx_mark=0
__sbx_count=0

# __sbx_emit writes an event once everything printed before it is
# written, with a marker on stdout and stderr the agent orders it by.
__sbx_emit() {
	__sbx_mark=$((__sbx_mark + 1))
	local m=$__sbx_mark
	printf '\036\037soulbox-mark:%d\037\036' "$m" || m=0
	printf '\036\037soulbox-mark:%d\037\036' "$m" >&2 || m=0
	printf '{"id":%s,"mark":%d,%s}\n' "$__sbx_id" "$m" "$1" >&4
}

# __sbx_setenv sets a variable for one cell and remembers how to undo it.
__sbx_restore=()
__sbx_setenv() {
	if [[ -v $1 ]]; then
		__sbx_restore+=("export $1=$(printf %q "${!1}")")
	else
		__sbx_restore+=("unset $1")
	fi
	export "$1=$2"
}

# __sbx_cell runs the cell in __sbx_code in this shell. An interrupt
# (SIGINT from the agent) ends the cell, not the shell. The cell is read
# from a here-string, which leaves no file behind: the agent ends a
# context's shell with SIGKILL, so nothing it made on disk could be
# removed.
__sbx_cell() {
	trap 'trap "" INT; return 130' INT
	builtin source /dev/fd/5 5<<<"$__sbx_code" </dev/null
}

trap '' INT
printf '{"type":"ready"}\n' >&4
while true; do
	IFS=' ' read -r __sbx_id __sbx_code __sbx_env <&3
	__sbx_rc=$?
	if ((__sbx_rc > 128)); then continue; fi # interrupted while idle
	if ((__sbx_rc != 0)); then exit 0; fi     # the agent hung up
	[[ $__sbx_code == - ]] && __sbx_code=
	[[ $__sbx_env == - ]] && __sbx_env=
	__sbx_code=$(printf '%s' "$__sbx_code" | base64 -d 2>/dev/null)
	eval "$(printf '%s' "$__sbx_env" | base64 -d 2>/dev/null)"
	if [[ -z $__sbx_code ]]; then # only variables to set
		__sbx_emit "\"type\":\"done\",\"execution_count\":$__sbx_count"
		continue
	fi
	__sbx_count=$((__sbx_count + 1))
	__sbx_cell
	__sbx_rc=$?
	trap '' INT
	for __sbx_c in "${__sbx_restore[@]}"; do eval "$__sbx_c"; done
	__sbx_restore=()
	if ((__sbx_rc == 130)); then
		__sbx_emit '"type":"error","name":"Interrupted","value":"execution was interrupted","traceback":""'
	elif ((__sbx_rc != 0)); then
		__sbx_emit "\"type\":\"error\",\"name\":\"ExitCodeError\",\"value\":\"exit code $__sbx_rc\",\"traceback\":\"\""
	fi
	__sbx_emit "\"type\":\"done\",\"execution_count\":$__sbx_count"
done
