package catalog

// OpenFiles opens the archive team uploaded for hash, for tests.
func (c *Catalog) OpenFiles(team, hash string) (interface {
	Read([]byte) (int, error)
	Close() error
}, error) {
	return c.openFiles(team, hash)
}

// ReferFiles marks team's archives of hashes in use, as a started build
// does, for tests.
func (c *Catalog) ReferFiles(team string, hashes ...string) func() { return c.referFiles(team, hashes) }

// FilesPath is where team's archive of hash is stored, for tests.
func (c *Catalog) FilesPath(team, hash string) string { return c.filesPath(team, hash) }
