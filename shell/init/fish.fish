function CLIENT-PROFILE --description 'CLIENT logged in to iamdb profile PROFILE'
    command iamdb CLIENT PROFILE -- $argv
end
