# bash completion for wsctl: commands, their options, template names and
# your workspace names (asked of wsd with a 2 s limit, so a slow or absent
# wsd never hangs the shell). Installed as
# share/bash-completion/completions/wsctl; zsh loads it through
# bashcompinit (see _wsctl).

_wsctl_names() { # your workspaces' names, from `wsctl ls`
	timeout 2 wsctl ls 2>/dev/null | awk 'NR > 1 && $1 != "" { print $1 }'
}

_wsctl_templates() {
	timeout 2 wsctl templates 2>/dev/null | awk 'NR > 1 && $1 != "(default/largest" { print $1 }'
}

_wsctl() {
	local cur prev cmd i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--socket) i=$((i + 1)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		if [ "$prev" = --socket ]; then
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			return
		fi
		mapfile -t COMPREPLY < <(compgen -W "start ls show stop extend logs wait queue gpus quota admin ssh ssh-config templates web help --socket --version --help" -- "$cur")
		return
	fi
	case $cmd in
	start)
		case $prev in
		--template) mapfile -t COMPREPLY < <(compgen -W "$(_wsctl_templates)" -- "$cur") ;;
		--mount) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
		--name | --memory | --shm | --cpus | --gpus | --gpu-ids) ;;
		*) mapfile -t COMPREPLY < <(compgen -W "--name --template --memory --shm --cpus --gpus --gpu-ids --mount --wait --queue --json" -- "$cur") ;;
		esac
		;;
	show | stop | ssh | wait)
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--json" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(_wsctl_names)" -- "$cur")
		fi
		;;
	extend)
		case $prev in
		--by) mapfile -t COMPREPLY < <(compgen -W "30m 1h 2h 1d" -- "$cur") ;;
		*)
			if [[ $cur == -* ]]; then
				mapfile -t COMPREPLY < <(compgen -W "--by --json" -- "$cur")
			else
				mapfile -t COMPREPLY < <(compgen -W "$(_wsctl_names)" -- "$cur")
			fi
			;;
		esac
		;;
	logs)
		case $prev in
		--tail | -n) ;;
		*)
			if [[ $cur == -* ]]; then
				mapfile -t COMPREPLY < <(compgen -W "--tail --follow" -- "$cur")
			else
				mapfile -t COMPREPLY < <(compgen -W "$(_wsctl_names)" -- "$cur")
			fi
			;;
		esac
		;;
	ssh-config)
		case $prev in
		--write) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
		--jupyter-port) ;;
		*)
			if [[ $cur == -* ]]; then
				mapfile -t COMPREPLY < <(compgen -W "--known-hosts --write --jupyter-port" -- "$cur")
			else
				mapfile -t COMPREPLY < <(compgen -W "$(_wsctl_names)" -- "$cur")
			fi
			;;
		esac
		;;
	ls | gpus | quota | templates | queue | web)
		mapfile -t COMPREPLY < <(compgen -W "--json" -- "$cur")
		;;
	admin)
		if [ "$prev" = admin ]; then
			mapfile -t COMPREPLY < <(compgen -W "ls stop queue quota usage audit" -- "$cur")
		elif [ "$prev" = quota ]; then
			mapfile -t COMPREPLY < <(compgen -W "set show rm" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "--user --group --gpus --workspaces --memory --shm --cpus --lifetime --gpu-hours --idle-timeout --queued --extension --since --json" -- "$cur")
		fi
		;;
	help)
		mapfile -t COMPREPLY < <(compgen -W "start ls show stop extend logs wait queue gpus quota admin ssh ssh-config templates web" -- "$cur")
		;;
	esac
}
complete -F _wsctl wsctl
