/* check_chain_q.c - compares a saved Q-network with the chain's closed-form Q*.
 *
 *   check_chain_q QNET_FILE LENGTH GAMMA TOLERANCE
 *
 * Prints Q and Q* for every state and action; exits 0 when the greedy policy
 * is optimal (always right) in every state and every |Q - Q*| <= TOLERANCE,
 * 1 otherwise, 2 on usage or load errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "chainenv.h"
#include "qnet.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s QNET_FILE LENGTH GAMMA TOLERANCE\n", argv[0]);
        return 2;
    }
    int length = atoi(argv[2]);
    double gamma = atof(argv[3]), tol = atof(argv[4]);
    dq_qnet_t net;
    char why[256];
    if (dq_qnet_load(&net, argv[1], why, sizeof why) < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], why);
        return 2;
    }
    if (net.sizes[0] != length || dq_qnet_n_actions(&net) != 2) { /* Q-values, dueling or not */
        fprintf(stderr, "%s: network is %d -> %d, expected %d -> 2\n", argv[1], net.sizes[0],
                dq_qnet_n_actions(&net), length);
        return 2;
    }
    dq_qnet_ws_t ws;
    float *x = calloc((size_t)length * length, sizeof(float));
    float *q = calloc((size_t)length * 2, sizeof(float));
    if (!x || dq_qnet_ws_init(&ws, &net, length) < 0 || !q) return 2;
    for (int s = 0; s < length; s++) x[s * length + s] = 1.0f;
    dq_qnet_forward(&net, &ws, x, length, q);
    int ok = 1;
    double worst = 0;
    printf("state  Q(left)  Q*(left)  Q(right)  Q*(right)\n");
    for (int s = 0; s < length; s++) {
        double ql = q[2 * s], qr = q[2 * s + 1];
        double sl = chainenv_optimal_q(length, gamma, s, 0),
               sr = chainenv_optimal_q(length, gamma, s, 1);
        printf("%5d  %7.4f  %8.4f  %8.4f  %9.4f%s\n", s, ql, sl, qr, sr,
               qr > ql ? "" : "  <- greedy action is not optimal");
        if (!(qr > ql)) ok = 0;
        worst = fmax(worst, fmax(fabs(ql - sl), fabs(qr - sr)));
    }
    if (!(worst <= tol)) ok = 0;
    printf("max |Q - Q*| = %.4f (tolerance %.4f): %s\n", worst, tol, ok ? "PASS" : "FAIL");
    free(x);
    free(q);
    dq_qnet_ws_free(&ws);
    dq_qnet_free(&net);
    return ok ? 0 : 1;
}
