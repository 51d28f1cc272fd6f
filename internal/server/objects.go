package server

import (
	"time"

	"github.com/soulbox/soulbox/internal/objstore"
)

// ObjectsConfig says where the S3-compatible object storage that layers
// and pause checkpoints are also kept in is (the settings `soulbox node`
// takes too). Endpoint empty: none.
type ObjectsConfig = objstore.Settings

// pushGrace is how long a shutdown waits for layers still on their way to
// object storage: past it the server stops, and a layer not sent is on
// this host only (each upload has its own deadline, Objects' timeout,
// which can be minutes).
const pushGrace = 30 * time.Second
