/// Prune: visual-token reducers behind one protocol (see ../shared/REDUCERS.md).
public enum PruneModule {}
