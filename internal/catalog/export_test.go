package catalog

// OpenFiles opens the archive team uploaded for hash, for tests.
func (c *Catalog) OpenFiles(team, hash string) (interface {
	Read([]byte) (int, error)
	Close() error
}, error) {
	return c.openFiles(team, hash)
}
