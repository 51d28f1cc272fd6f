#!/bin/sh
# Adds SoulBox to Claude Code (stdio). Set the key first:
#   export SOULBOX_API_KEY=$(sudo cat /var/lib/soulbox/admin.key)
claude mcp add soulbox \
  -e SOULBOX_API_URL="${SOULBOX_API_URL:-http://127.0.0.1:3000}" \
  -e SOULBOX_API_KEY="$SOULBOX_API_KEY" \
  -- soulbox mcp
# Or over HTTP, to a server started with --mcp:
#   claude mcp add --transport http soulbox http://127.0.0.1:3000/mcp --header "Authorization: Bearer $SOULBOX_API_KEY"
