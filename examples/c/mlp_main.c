/* Runs models/mlp.py compiled ahead of time by tfc, from C.
 *
 *   tfc compile models/mlp.py -o build/mlp
 *   cc -O2 -Ibuild/mlp examples/c/mlp_main.c -Lbuild/mlp -lmodel -Wl,-rpath,build/mlp -o mlp_main
 *   ./mlp_main build/mlp/weights.bin
 *
 * It feeds one input image whose pixels are (i % 255) / 255 and prints the ten probabilities
 * and the most likely class. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static void *aligned_alloc64(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) return NULL;
    return p;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s weights.bin\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    void *weights = aligned_alloc64(TFC_MLP_WEIGHTS_BYTES);
    if (fread(weights, 1, TFC_MLP_WEIGHTS_BYTES, f) != TFC_MLP_WEIGHTS_BYTES) {
        fprintf(stderr, "%s: expected %d bytes of weights\n", argv[1], TFC_MLP_WEIGHTS_BYTES);
        return 1;
    }
    fclose(f);

    tfc_mlp_arg0_t *x = aligned_alloc64(TFC_MLP_ARG0_BYTES);
    tfc_mlp_result0_t *probs = aligned_alloc64(TFC_MLP_RESULT0_BYTES);
    void *temp = aligned_alloc64(TFC_MLP_TEMP_BYTES);
    size_t n = TFC_MLP_ARG0_BYTES / sizeof *x;
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 255) / 255.0f;

    void *args[] = {x};
    void *results[] = {probs};
    int status = tfc_mlp(args, results, temp, weights);
    if (status != 0) {
        fprintf(stderr, "op %d failed\n", status - 1);
        return 1;
    }
    int best = 0;
    for (int i = 0; i < 10; i++) {
        printf("%.6f\n", probs[i]);
        if (probs[i] > probs[best]) best = i;
    }
    printf("class %d\n", best);
    free(x); free(probs); free(temp); free(weights);
    return 0;
}
