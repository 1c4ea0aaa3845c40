from impl.main import main

main()
