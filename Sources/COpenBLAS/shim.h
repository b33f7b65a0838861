// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, found through pkg-config "openblas").
#include <cblas.h>
// Thread control lives in OpenBLAS's own header, not in cblas.h on every build.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
