package cli

import (
	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/objstore"
)

// objectFlags adds the object storage flags (--s3-*), the same for the
// server and a node, to cmd; o holds the defaults (the environment's).
func objectFlags(cmd *cobra.Command, o *objstore.Settings) {
	f := cmd.Flags()
	f.StringVar(&o.Endpoint, "s3-endpoint", o.Endpoint, "S3-compatible object storage (http(s)://host:port) layers and pause checkpoints are also kept in, for other hosts and a lost disk (default none)")
	f.StringVar(&o.Bucket, "s3-bucket", o.Bucket, "the object storage's bucket (it must exist)")
	f.StringVar(&o.Region, "s3-region", o.Region, "the bucket's region (default: what the server says)")
	f.StringVar(&o.AccessKey, "s3-access-key", o.AccessKey, "the object storage's access key")
	f.StringVar(&o.SecretKeyFile, "s3-secret-key-file", o.SecretKeyFile, "file holding the object storage's secret key (or SOULBOX_S3_SECRET_KEY)")
	f.StringVar(&o.Prefix, "s3-prefix", o.Prefix, "put before every object name, ending in / (a shared bucket)")
	f.DurationVar(&o.Timeout, "s3-timeout", o.Timeout, "the longest one object storage call (a blob's upload or download, a delete) may take (default 5m)")
}
