CLIENT-PROFILE() { command iamdb CLIENT PROFILE -- "$@" }
