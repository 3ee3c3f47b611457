# profile.gp - drawn by dqnlm-report from profile.dat; run: gnuplot profile.gp
set title 'Performance profile: held-out bits per byte' noenhanced
set xlabel 'tau (bits per byte)' noenhanced
set ylabel 'fraction of (seed, instance) scores below tau' noenhanced
set key bottom right noenhanced
set grid
set style fill transparent solid 0.18 noborder
set terminal pngcairo size 960,600 font 'sans,11'
set output 'profile.png'
plot 'profile.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, \
     'profile.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'eps-0.1 (5 runs)', 'profile.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, \
     'profile.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'linear-decay (5 runs)', 'profile.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, \
     'profile.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ez-greedy (5 runs)', 'profile.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, \
     'profile.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'boltzmann (5 runs)'
set terminal svg size 960,600 font 'sans,11' background '#ffffff'
set output 'profile.svg'
plot 'profile.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, \
     'profile.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'eps-0.1 (5 runs)', 'profile.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, \
     'profile.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'linear-decay (5 runs)', 'profile.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, \
     'profile.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ez-greedy (5 runs)', 'profile.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, \
     'profile.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'boltzmann (5 runs)'
