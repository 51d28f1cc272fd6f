package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

type diskCollector struct {
	path        string
	free, total *prometheus.Desc
}

// DiskCollector serves the free and total bytes of the filesystem that
// holds path (the data dir: sandboxes' layers, checkpoints, the store),
// read at scrape time, for the disk-nearly-full alert.
func DiskCollector(path string) prometheus.Collector {
	return &diskCollector{
		path: path,
		free: prometheus.NewDesc("soulbox_data_dir_free_bytes",
			"Bytes available to the server on the data dir's filesystem.", nil, nil),
		total: prometheus.NewDesc("soulbox_data_dir_size_bytes",
			"Size of the data dir's filesystem in bytes.", nil, nil),
	}
}

func (c *diskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.free
	ch <- c.total
}

func (c *diskCollector) Collect(ch chan<- prometheus.Metric) {
	var st unix.Statfs_t
	if err := unix.Statfs(c.path, &st); err != nil {
		ch <- prometheus.NewInvalidMetric(c.free, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.free, prometheus.GaugeValue, float64(st.Bavail)*float64(st.Bsize))
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(st.Blocks)*float64(st.Bsize))
}
