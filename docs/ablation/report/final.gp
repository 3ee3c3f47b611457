# final.gp - drawn by dqnlm-report from final.dat; run: gnuplot final.gp
set title 'Score per schedule (held-out bits per byte): IQM and 95% stratified-bootstrap interval' noenhanced
set xlabel 'held-out bits per byte' noenhanced
set ytics noenhanced
set yrange [0.5:4.5]
set grid x
unset key
set terminal pngcairo size 900,400 font 'sans,11'
set output 'final.png'
plot 'final.dat' using 2:1:3:4:ytic(5) with xerrorbars pt 7 ps 1.2 lw 2 lc 1
set terminal svg size 900,400 font 'sans,11' background '#ffffff'
set output 'final.svg'
plot 'final.dat' using 2:1:3:4:ytic(5) with xerrorbars pt 7 ps 1.2 lw 2 lc 1
