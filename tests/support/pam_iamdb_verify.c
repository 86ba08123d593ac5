/*
 * A PAM module for iamdb's end-to-end tests: it hands the password (an RDS IAM token) to a
 * verifier program on stdin, whole, and succeeds only if the verifier exits 0. The login user
 * is passed in PAM_USER. Stock pam_exec's expose_authtok passes only the first 511 bytes,
 * too few for tokens signed with session credentials (1-3 KB).
 *
 *   auth required /path/pam_iamdb_verify.so /usr/bin/python3 /path/verify_token.py ARGS...
 */
#include <security/pam_modules.h>
#include <security/pam_ext.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    const char *user = NULL, *token = NULL;
    (void)flags;
    if (argc < 1) return PAM_AUTH_ERR;
    if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL) return PAM_AUTH_ERR;
    if (pam_get_authtok(pamh, PAM_AUTHTOK, &token, NULL) != PAM_SUCCESS || token == NULL) return PAM_AUTH_ERR;

    int fds[2];
    if (pipe(fds) != 0) return PAM_AUTH_ERR;
    /* The server may ignore SIGCHLD; waitpid needs the default disposition. */
    struct sigaction old, dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, &old);
    pid_t pid = fork();
    if (pid < 0) {
        sigaction(SIGCHLD, &old, NULL);
        return PAM_AUTH_ERR;
    }
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        setenv("PAM_USER", user, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[0]);
    size_t len = strlen(token), off = 0;
    while (off < len) {
        ssize_t n = write(fds[1], token + off, len - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    close(fds[1]);
    int status = 0;
    pid_t r = waitpid(pid, &status, 0);
    sigaction(SIGCHLD, &old, NULL);
    return (r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) ? PAM_SUCCESS : PAM_AUTH_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)pamh; (void)flags; (void)argc; (void)argv;
    return PAM_SUCCESS;
}
