// Package logx has the typed slog attributes SoulBox logs with, so that the
// same thing always carries the same key.
package logx

import "log/slog"

// Sandbox is the attribute naming a sandbox.
func Sandbox(id string) slog.Attr { return slog.String("sandbox.id", id) }

// Template is the attribute naming a template.
func Template(name string) slog.Attr { return slog.String("template", name) }

// Err is the attribute carrying an error.
func Err(err error) slog.Attr { return slog.Any("err", err) }
