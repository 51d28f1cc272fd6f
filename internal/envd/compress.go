package envd

// CompressMinBytes is the smallest Connect message the agent compresses
// when the client accepts gzip (the E2B SDKs do). A process event, a
// watch event or a short listing is a few dozen bytes: resetting a gzip
// writer for it (clearing its hash tables, about half a MiB) costs more
// CPU than the bytes saved are worth, and it was the agent's largest
// cost under many small commands.run at once. Larger messages, such as
// a command's bulk output, are still compressed.
const CompressMinBytes = 1024
