/* compare_qnet.c - compares the parameters of two saved Q-networks.
 *
 *   compare_qnet A.bin B.bin TOLERANCE
 *
 * Prints the largest absolute parameter difference; exits 0 when the shapes
 * match and it is <= TOLERANCE, 1 when not, 2 on usage or load errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "qnet.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s A.bin B.bin TOLERANCE\n", argv[0]);
        return 2;
    }
    dq_qnet_t a, b;
    char why[256];
    if (dq_qnet_load(&a, argv[1], why, sizeof why) < 0 ||
        dq_qnet_load(&b, argv[2], why, sizeof why) < 0) {
        fprintf(stderr, "%s\n", why);
        return 2;
    }
    int same = a.n_params == b.n_params && a.n_layers == b.n_layers && a.dueling == b.dueling;
    double worst = 0, scale = 0;
    for (size_t i = 0; same && i < a.n_params; i++) {
        worst = fmax(worst, fabs((double)a.params[i] - b.params[i]));
        scale = fmax(scale, fabs((double)a.params[i]));
    }
    double tol = atof(argv[3]);
    int ok = same && worst <= tol;
    printf("%s vs %s: %s, max |a - b| = %.3g (largest |a| = %.3g, tolerance %.3g): %s\n", argv[1],
           argv[2], same ? "same shape" : "different shapes", worst, scale, tol,
           ok ? "PASS" : "FAIL");
    dq_qnet_free(&a);
    dq_qnet_free(&b);
    return ok ? 0 : 1;
}
