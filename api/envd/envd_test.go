// Package envd_test pins the wire facts of E2B's envd protocol that the
// official SDKs rely on, so an edit of the mirrored .proto files that would
// break them fails here rather than in an SDK end-to-end test.
package envd_test

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/api/envd/filesystem/filesystemconnect"
	"github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
)

type streaming int

const (
	unary streaming = iota
	serverStream
	clientStream
	bidiStream
)

func (s streaming) String() string {
	return [...]string{"unary", "server stream", "client stream", "bidirectional stream"}[s]
}

func kindOf(m protoreflect.MethodDescriptor) streaming {
	switch {
	case m.IsStreamingClient() && m.IsStreamingServer():
		return bidiStream
	case m.IsStreamingServer():
		return serverStream
	case m.IsStreamingClient():
		return clientStream
	}
	return unary
}

func TestServices(t *testing.T) {
	tests := []struct {
		service   protoreflect.ServiceDescriptor
		fullName  protoreflect.FullName
		constName string // the connect-generated <Service>Name constant
		methods   map[protoreflect.Name]streaming
	}{
		{
			service:   process.File_process_process_proto.Services().ByName("Process"),
			fullName:  "process.Process",
			constName: processconnect.ProcessName,
			methods: map[protoreflect.Name]streaming{
				"Start":       serverStream,
				"Connect":     serverStream,
				"List":        unary,
				"SendInput":   unary,
				"StreamInput": clientStream,
				"CloseStdin":  unary,
				"SendSignal":  unary,
				"Update":      unary,
			},
		},
		{
			service:   filesystem.File_filesystem_filesystem_proto.Services().ByName("Filesystem"),
			fullName:  "filesystem.Filesystem",
			constName: filesystemconnect.FilesystemName,
			methods: map[protoreflect.Name]streaming{
				"Stat":             unary,
				"MakeDir":          unary,
				"Move":             unary,
				"ListDir":          unary,
				"Remove":           unary,
				"WatchDir":         serverStream,
				"CreateWatcher":    unary,
				"GetWatcherEvents": unary,
				"RemoveWatcher":    unary,
			},
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.fullName), func(t *testing.T) {
			if tt.service == nil {
				t.Fatalf("service %s is not in the generated descriptors", tt.fullName)
			}
			if got := tt.service.FullName(); got != tt.fullName {
				t.Errorf("service full name = %q, want %q", got, tt.fullName)
			}
			if tt.constName != string(tt.fullName) {
				t.Errorf("connect service name = %q, want %q", tt.constName, tt.fullName)
			}
			methods := tt.service.Methods()
			if methods.Len() != len(tt.methods) {
				t.Errorf("service has %d methods, want %d", methods.Len(), len(tt.methods))
			}
			for i := 0; i < methods.Len(); i++ {
				m := methods.Get(i)
				want, ok := tt.methods[m.Name()]
				if !ok {
					t.Errorf("unexpected method %s", m.FullName())
					continue
				}
				if got := kindOf(m); got != want {
					t.Errorf("%s is a %v, want a %v", m.FullName(), got, want)
				}
			}
			for name := range tt.methods {
				if methods.ByName(name) == nil {
					t.Errorf("method %s.%s is missing", tt.fullName, name)
				}
			}
		})
	}
}

// TestProcedures checks a few of the HTTP paths the SDKs post to.
func TestProcedures(t *testing.T) {
	tests := []struct{ got, want string }{
		{processconnect.ProcessStartProcedure, "/process.Process/Start"},
		{processconnect.ProcessStreamInputProcedure, "/process.Process/StreamInput"},
		{filesystemconnect.FilesystemWatchDirProcedure, "/filesystem.Filesystem/WatchDir"},
		{filesystemconnect.FilesystemGetWatcherEventsProcedure, "/filesystem.Filesystem/GetWatcherEvents"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("procedure %q, want %q", tt.got, tt.want)
		}
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		message  proto.Message
		field    protoreflect.Name
		number   protoreflect.FieldNumber
		kind     protoreflect.Kind
		presence bool   // explicit presence: proto3 optional, message or oneof member
		oneof    string // containing oneof, "" for none
		isMap    bool
	}{
		{&process.StartRequest{}, "process", 1, protoreflect.MessageKind, true, "", false},
		{&process.StartRequest{}, "pty", 2, protoreflect.MessageKind, true, "", false},
		{&process.StartRequest{}, "tag", 3, protoreflect.StringKind, true, "", false},
		{&process.StartRequest{}, "stdin", 4, protoreflect.BoolKind, true, "", false},
		{&process.ProcessConfig{}, "envs", 3, protoreflect.MessageKind, false, "", true},
		{&process.ProcessConfig{}, "cwd", 4, protoreflect.StringKind, true, "", false},
		{&process.ProcessEvent{}, "start", 1, protoreflect.MessageKind, true, "event", false},
		{&process.ProcessEvent{}, "data", 2, protoreflect.MessageKind, true, "event", false},
		{&process.ProcessEvent{}, "end", 3, protoreflect.MessageKind, true, "event", false},
		{&process.ProcessEvent{}, "keepalive", 4, protoreflect.MessageKind, true, "event", false},
		{&process.ProcessEvent_StartEvent{}, "pid", 1, protoreflect.Uint32Kind, false, "", false},
		{&process.ProcessEvent_DataEvent{}, "pty", 3, protoreflect.BytesKind, true, "output", false},
		{&process.ProcessEvent_EndEvent{}, "exit_code", 1, protoreflect.Sint32Kind, false, "", false},
		{&process.ProcessEvent_EndEvent{}, "error", 4, protoreflect.StringKind, true, "", false},
		{&process.ProcessSelector{}, "pid", 1, protoreflect.Uint32Kind, true, "selector", false},
		{&process.ProcessSelector{}, "tag", 2, protoreflect.StringKind, true, "selector", false},
		{&process.StreamInputRequest{}, "keepalive", 3, protoreflect.MessageKind, true, "event", false},
		{&process.StreamInputRequest_DataEvent{}, "input", 2, protoreflect.MessageKind, true, "", false},
		{&process.SendSignalRequest{}, "signal", 2, protoreflect.EnumKind, false, "", false},
		{&filesystem.EntryInfo{}, "size", 4, protoreflect.Int64Kind, false, "", false},
		{&filesystem.EntryInfo{}, "mode", 5, protoreflect.Uint32Kind, false, "", false},
		{&filesystem.EntryInfo{}, "modified_time", 9, protoreflect.MessageKind, true, "", false},
		{&filesystem.EntryInfo{}, "symlink_target", 10, protoreflect.StringKind, true, "", false},
		{&filesystem.EntryInfo{}, "metadata", 11, protoreflect.MessageKind, false, "", true},
		{&filesystem.ListDirRequest{}, "depth", 2, protoreflect.Uint32Kind, false, "", false},
		{&filesystem.WatchDirRequest{}, "include_entry", 3, protoreflect.BoolKind, false, "", false},
		{&filesystem.WatchDirRequest{}, "allow_network_mounts", 4, protoreflect.BoolKind, false, "", false},
		{&filesystem.CreateWatcherRequest{}, "allow_network_mounts", 4, protoreflect.BoolKind, false, "", false},
		{&filesystem.FilesystemEvent{}, "entry", 3, protoreflect.MessageKind, true, "", false},
		{&filesystem.WatchDirResponse{}, "keepalive", 3, protoreflect.MessageKind, true, "event", false},
		{&filesystem.CreateWatcherResponse{}, "watcher_id", 1, protoreflect.StringKind, false, "", false},
	}
	for _, tt := range tests {
		md := tt.message.ProtoReflect().Descriptor()
		t.Run(string(md.FullName())+"."+string(tt.field), func(t *testing.T) {
			f := md.Fields().ByName(tt.field)
			if f == nil {
				t.Fatalf("field %s.%s is missing", md.FullName(), tt.field)
			}
			if f.Number() != tt.number {
				t.Errorf("number = %d, want %d", f.Number(), tt.number)
			}
			if f.Kind() != tt.kind {
				t.Errorf("kind = %v, want %v", f.Kind(), tt.kind)
			}
			if f.HasPresence() != tt.presence {
				t.Errorf("has presence = %v, want %v", f.HasPresence(), tt.presence)
			}
			var oneof string
			// A proto3 optional field sits in a synthetic oneof, which is not on the wire.
			if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
				oneof = string(o.Name())
			}
			if oneof != tt.oneof {
				t.Errorf("oneof = %q, want %q", oneof, tt.oneof)
			}
			if f.IsMap() != tt.isMap {
				t.Errorf("is map = %v, want %v", f.IsMap(), tt.isMap)
			}
		})
	}
}

func TestEnums(t *testing.T) {
	tests := []struct {
		value protoreflect.Enum
		name  protoreflect.Name
		num   protoreflect.EnumNumber
	}{
		{process.Signal_SIGNAL_UNSPECIFIED, "SIGNAL_UNSPECIFIED", 0},
		{process.Signal_SIGNAL_SIGTERM, "SIGNAL_SIGTERM", 15},
		{process.Signal_SIGNAL_SIGKILL, "SIGNAL_SIGKILL", 9},
		{filesystem.FileType_FILE_TYPE_DIRECTORY, "FILE_TYPE_DIRECTORY", 2},
		{filesystem.FileType_FILE_TYPE_SYMLINK, "FILE_TYPE_SYMLINK", 3},
		{filesystem.EventType_EVENT_TYPE_CHMOD, "EVENT_TYPE_CHMOD", 5},
	}
	for _, tt := range tests {
		t.Run(string(tt.name), func(t *testing.T) {
			v := tt.value.Descriptor().Values().ByName(tt.name)
			if v == nil {
				t.Fatalf("enum value %s is missing", tt.name)
			}
			if v.Number() != tt.num || tt.value.Number() != tt.num {
				t.Errorf("%s = %d (constant %d), want %d", tt.name, v.Number(), tt.value.Number(), tt.num)
			}
		})
	}
}

// TestEntryInfoJSON checks the JSON the SDKs read: the Connect JSON codec
// uses protojson, whose names are lowerCamelCase, enums are names, int64 are
// strings and timestamps RFC 3339.
func TestEntryInfoJSON(t *testing.T) {
	entry := &filesystem.EntryInfo{
		Name:          "link",
		Type:          filesystem.FileType_FILE_TYPE_SYMLINK,
		Path:          "/home/user/link",
		Size:          42,
		Mode:          0o777,
		Permissions:   "Lrwxrwxrwx",
		Owner:         "user",
		Group:         "user",
		ModifiedTime:  timestamppb.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
		SymlinkTarget: proto.String("/home/user/target"),
		Metadata:      map[string]string{"k": "v"},
	}
	b, err := protojson.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name":          "link",
		"type":          "FILE_TYPE_SYMLINK",
		"path":          "/home/user/link",
		"size":          "42",
		"mode":          float64(0o777),
		"permissions":   "Lrwxrwxrwx",
		"owner":         "user",
		"group":         "user",
		"modifiedTime":  "2025-01-02T03:04:05Z",
		"symlinkTarget": "/home/user/target",
	}
	for key, w := range want {
		if got[key] != w {
			t.Errorf("%s = %#v, want %#v (JSON %s)", key, got[key], w, b)
		}
	}
	if md, _ := got["metadata"].(map[string]any); md["k"] != "v" {
		t.Errorf("metadata = %#v, want {\"k\": \"v\"} (JSON %s)", got["metadata"], b)
	}
	for _, snake := range []string{"modified_time", "symlink_target"} {
		if _, ok := got[snake]; ok {
			t.Errorf("JSON has snake_case key %q: %s", snake, b)
		}
	}
}
